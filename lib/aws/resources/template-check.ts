/**
 * Holds a hand-written CloudFormation template to the CloudFormation resource schemas, as
 * `@aws-cdk/aws-service-spec` carries them: every resource type exists, every property exists
 * for its type with a value of the right shape (string, number, boolean, list, map or a nested
 * property type, down to the leaves), required properties are present, and every `Ref` and
 * `Fn::GetAtt` names a resource of the template and an attribute its type has. It is what tells
 * us, without an AWS account, that render.ts writes templates CloudFormation will accept.
 *
 * For tests and tooling only: the schemas are a development dependency, and loading them takes
 * about a second and over a hundred megabytes of memory, so nothing on the deploy path imports this file
 * (index.ts does not export it).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { PropertyType, Resource as ResourceSpec, ResourceProperties, SpecDatabase } from '@aws-cdk/service-spec-types';
import { closestKey } from '../../manifest/suggest';

export interface TemplateProblem {
  /** Where in the template, e.g. `Resources.Instance.Properties.SecurityGroupIngress[0].FromPort`. */
  readonly path: string;
  readonly message: string;
}

let database: SpecDatabase | undefined;

/** The schema database, loaded (gunzipped and parsed) on first use and kept for the process. */
function specDatabase(): SpecDatabase {
  database ??= loadAwsServiceSpecSync();
  return database;
}

const POLICIES = ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'];
/** Template-level keys CloudFormation defines for a resource besides Type and Properties. */
const RESOURCE_KEYS = ['Type', 'Properties', 'DependsOn', 'Condition', 'Metadata', 'DeletionPolicy', 'UpdateReplacePolicy', 'CreationPolicy', 'UpdatePolicy'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An intrinsic function (`{ Ref }`, `{ "Fn::GetAtt" }`, `{ "Fn::Join" }` …): its result can be of any type, so it stands for any value. */
function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || (keys[0] ?? '').startsWith('Fn::'));
}

export function checkTemplate(template: Record<string, unknown>): TemplateProblem[] {
  const db = specDatabase();
  const problems: TemplateProblem[] = [];
  const problem = (path: string, message: string): void => {
    problems.push({ path, message });
  };

  const resources = template.Resources;
  if (!isObject(resources) || Object.keys(resources).length === 0) {
    problem('Resources', 'a template needs at least one resource');
    return problems;
  }
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const specs = new Map<string, ResourceSpec>();

  for (const [logicalId, resource] of Object.entries(resources)) {
    const at = `Resources.${logicalId}`;
    if (!/^[A-Za-z0-9]+$/.test(logicalId)) problem(at, 'a logical id may hold only letters and digits');
    if (!isObject(resource)) {
      problem(at, 'a resource must be an object');
      continue;
    }
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.includes(key)) problem(`${at}.${key}`, `unknown resource attribute ${key}`);
    }
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy']) {
      const policy = resource[key];
      if (policy !== undefined && !(typeof policy === 'string' && POLICIES.includes(policy))) problem(`${at}.${key}`, `must be one of ${POLICIES.join(', ')}`);
    }
    const type = resource.Type;
    if (typeof type !== 'string') {
      problem(`${at}.Type`, 'a resource needs a Type');
      continue;
    }
    const spec = db.lookup('resource', 'cloudFormationType', 'equals', type)[0];
    if (!spec) {
      problem(`${at}.Type`, `unknown resource type ${type}`);
      continue;
    }
    specs.set(logicalId, spec);
    const properties = resource.Properties ?? {};
    if (!isObject(properties)) {
      problem(`${at}.Properties`, 'Properties must be an object');
      continue;
    }
    checkProperties(db, properties, spec.properties, `${at}.Properties`, type, problem);
  }

  // References are checked once every resource's type is known.
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`));
      return;
    }
    if (!isObject(value)) return;
    if (isIntrinsic(value)) checkReference(value, path, resources, parameters, specs, problem);
    for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`);
  };
  visit(resources, 'Resources');

  const outputs = template.Outputs;
  if (outputs !== undefined) {
    if (!isObject(outputs)) problem('Outputs', 'Outputs must be an object');
    else {
      for (const [name, output] of Object.entries(outputs)) {
        if (!isObject(output) || output.Value === undefined) problem(`Outputs.${name}`, 'an output needs a Value');
      }
      visit(outputs, 'Outputs');
    }
  }
  return problems;
}

function checkProperties(
  db: SpecDatabase,
  values: Record<string, unknown>,
  schema: ResourceProperties,
  at: string,
  owner: string,
  problem: (path: string, message: string) => void,
): void {
  for (const [name, value] of Object.entries(values)) {
    const property = schema[name];
    if (!property) {
      const guess = closestKey(name, Object.keys(schema));
      problem(`${at}.${name}`, `${owner} has no property ${name}${guess ? ` (did you mean ${guess}?)` : ''}`);
      continue;
    }
    checkValue(db, value, property.type, `${at}.${name}`, problem);
  }
  for (const [name, property] of Object.entries(schema)) {
    if (property.required && values[name] === undefined) problem(`${at}.${name}`, `${owner} requires ${name}`);
  }
}

/** Checks one value against its schema type; an intrinsic function passes for any type. */
function checkValue(db: SpecDatabase, value: unknown, type: PropertyType, at: string, problem: (path: string, message: string) => void): void {
  if (isIntrinsic(value)) return;
  const mismatch = (): void => problem(at, `expected ${describe(db, type)}, found ${found(value)}`);
  switch (type.type) {
    case 'string':
    case 'date-time':
      if (typeof value !== 'string') mismatch();
      else if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(value)) problem(at, `expected one of ${type.allowedValues.join(', ')}`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) mismatch();
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) mismatch();
      return;
    case 'boolean':
      if (typeof value !== 'boolean') mismatch();
      return;
    case 'null':
      if (value !== null) mismatch();
      return;
    case 'json':
      return;
    case 'tag':
      if (!isObject(value)) mismatch();
      else checkProperties(db, value, TAG_PROPERTIES, at, 'a tag', problem);
      return;
    case 'array':
      if (!Array.isArray(value)) mismatch();
      else value.forEach((item, index) => checkValue(db, item, type.element, `${at}[${index}]`, problem));
      return;
    case 'map':
      if (!isObject(value)) mismatch();
      else for (const [key, item] of Object.entries(value)) checkValue(db, item, type.element, `${at}.${key}`, problem);
      return;
    case 'ref': {
      if (!isObject(value)) return mismatch();
      const definition = db.get('typeDefinition', type.reference);
      checkProperties(db, value, definition.properties, at, definition.name, problem);
      return;
    }
    case 'union': {
      // Accept the value if it fits any member; otherwise report the union as a whole.
      const fits = type.types.some((member) => {
        const memberProblems: TemplateProblem[] = [];
        checkValue(db, value, member, at, (path, message) => memberProblems.push({ path, message }));
        return memberProblems.length === 0;
      });
      if (!fits) mismatch();
      return;
    }
  }
}

const TAG_PROPERTIES: ResourceProperties = {
  Key: { type: { type: 'string' }, required: true },
  Value: { type: { type: 'string' }, required: true },
};

function describe(db: SpecDatabase, type: PropertyType): string {
  switch (type.type) {
    case 'array':
      return `a list of ${describe(db, type.element)}`;
    case 'map':
      return `a map of ${describe(db, type.element)}`;
    case 'ref':
      return `a ${db.get('typeDefinition', type.reference).name} object`;
    case 'union':
      return type.types.map((member) => describe(db, member)).join(' or ');
    case 'tag':
      return 'a tag ({ Key, Value })';
    case 'json':
      return 'any JSON';
    case 'integer':
      return 'an integer';
    default:
      return `a ${type.type}`;
  }
}

function found(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function checkReference(
  intrinsic: Record<string, unknown>,
  at: string,
  resources: Record<string, unknown>,
  parameters: Record<string, unknown>,
  specs: ReadonlyMap<string, ResourceSpec>,
  problem: (path: string, message: string) => void,
): void {
  if ('Ref' in intrinsic) {
    const target = intrinsic.Ref;
    if (typeof target !== 'string') problem(at, 'Ref takes a logical id');
    else if (!target.startsWith('AWS::') && !(target in resources) && !(target in parameters)) problem(at, `Ref names ${target}, which is neither a resource nor a parameter of the template`);
    return;
  }
  if ('Fn::GetAtt' in intrinsic) {
    const args = intrinsic['Fn::GetAtt'];
    const [target, attribute]: unknown[] = typeof args === 'string' ? splitOnce(args) : Array.isArray(args) ? (args as unknown[]) : [];
    if (typeof target !== 'string' || typeof attribute !== 'string') {
      problem(at, 'Fn::GetAtt takes [logicalId, attribute]');
      return;
    }
    if (!(target in resources)) {
      problem(at, `Fn::GetAtt names ${target}, which is not a resource of the template`);
      return;
    }
    const spec = specs.get(target);
    if (spec && !(attribute in spec.attributes)) {
      const guess = closestKey(attribute, Object.keys(spec.attributes));
      problem(at, `${spec.cloudFormationType} has no attribute ${attribute}${guess ? ` (did you mean ${guess}?)` : ''}`);
    }
  }
}

function splitOnce(value: string): [string, string] | [] {
  const dot = value.indexOf('.');
  return dot < 0 ? [] : [value.slice(0, dot), value.slice(dot + 1)];
}
