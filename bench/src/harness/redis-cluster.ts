/** The bench's throwaway Redis Cluster is the tests' one (packages/testing): masters, optional replicas, free ports. */
export { startRedisCluster, type ThrowawayCluster } from '@ghl-connect/testing'
