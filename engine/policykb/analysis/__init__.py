"""Analysis of the replication network with networkx: measures, coverage, gaps, diffusion, centrality."""
