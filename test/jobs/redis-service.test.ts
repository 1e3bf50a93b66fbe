import { describeJobSystem } from '../helpers/job-suite.js';
import { describeWithRedis, startRedisServer } from '../helpers/redis-server.js';

describeJobSystem(
  'Redis queue, one node: processing, fetch, webhooks, temp outputs',
  async () => {
    const redis = await startRedisServer();
    return { env: { QUEUE: redis.url, NODE_NAME: 'solo' }, stop: () => redis.stop() };
  },
  describeWithRedis,
);
