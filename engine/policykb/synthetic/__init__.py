"""Synthetic knowledge bases for benchmarks and scale tests (`policykb generate`): zones, measures and
ledgers invented from a seed, every one of them marked as sample data (合成样例·, syn:)."""
