"""Tests that attack: malformed and mutated messages, corrupted shares, session floods, kills."""
