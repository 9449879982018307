"""The evasion-resistant negative-list matcher (normalization, variants, automaton)."""
