#!/usr/bin/env node
// The `slipway` command. Slipway is written in TypeScript and runs through tsx, so a clone works
// right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run under Node.js 20 that its releases from 2027 on will need 22.
// Slipway pins its SDK versions and supports Node.js 20.19 and later, so the warning would only
// bury the command's output; the SDK's own switch turns it off unless the user set it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
