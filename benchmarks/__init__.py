"""rewardkit's benchmarks: ``python -m benchmarks [--quick]`` (see docs/performance.md)."""
