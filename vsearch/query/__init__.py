"""Query: the structured spec, the FR/EN text parser, the engine, similarity, counting, zones."""
