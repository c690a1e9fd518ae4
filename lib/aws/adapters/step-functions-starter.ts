/**
 * Starts state machine executions by name. Step Functions refuses a second execution with a name
 * already used (for 90 days), which is what makes a repeated upload event start one deploy: that
 * refusal is an answer here, not an error.
 */
import type { SFNClient} from '@aws-sdk/client-sfn';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SlipwayError } from '../../errors';

export class ExecutionStartError extends SlipwayError {
  constructor(machine: string, name: string, cause: unknown) {
    super(`could not start execution ${name} of ${machine}: ${(cause as Error).name}: ${(cause as Error).message}`, 'EXECUTION_START_FAILED', { machine, name }, { cause });
  }
}

export class StepFunctionsStarter {
  constructor(private readonly client: SFNClient) {}

  /** Start `name`; `started: false` when an execution of that name exists already. */
  async start(stateMachineArn: string, name: string, input: unknown): Promise<{ started: boolean; executionArn?: string }> {
    try {
      const out = await this.client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return { started: true, ...(out.executionArn ? { executionArn: out.executionArn } : {}) };
    } catch (e) {
      if (e instanceof ExecutionAlreadyExists) return { started: false };
      throw new ExecutionStartError(stateMachineArn, name, e);
    }
  }
}
