/** `npm run graphiql:build`: writes dist/graphiql/app.js and app.css (see src/web/assets.ts for when this is needed). */
import { writePrebuilt } from '../web/assets.js';
import { GRAPHIQL_APP } from './bundle.js';

console.log(await writePrebuilt(GRAPHIQL_APP));
