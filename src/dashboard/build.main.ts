/** `npm run dashboard:build`: writes dist/dashboard/app.js and app.css (see src/web/assets.ts for when this is needed). */
import { writePrebuilt } from '../web/assets.js';
import { DASHBOARD_APP } from './routes.js';

console.log(await writePrebuilt(DASHBOARD_APP));
