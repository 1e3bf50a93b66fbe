import { describeJobSystem } from '../helpers/job-suite.js';

describeJobSystem('queued jobs: processing, fetch, webhooks, temp outputs', async () => ({ env: {}, stop: async () => {} }));
