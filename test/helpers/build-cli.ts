/* Builds .test-dist/ (see cli.ts) once before the test files run side by side: `npm run unit` calls it. */
import { builtCli } from './cli.ts'

builtCli()
