/** `npm run schema:emit`: writes schema.graphql from the type-graphql classes. */
import { writeFileSync } from 'node:fs';
import { printGatewaySchema } from '../src/schema/build.js';

writeFileSync('schema.graphql', printGatewaySchema());
console.log('wrote schema.graphql');
