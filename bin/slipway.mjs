#!/usr/bin/env node
// The `slipway` command. Slipway is written in TypeScript and runs through tsx, so a clone works
// right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
