"""Scoring: facts from the knowledge base, matched by durable-rules, added up, capped, ranked and
explained; rule test cases; reporting duties."""
