"""The embedded default: the whole API served from template.yaml on one machine, AWS played by moto."""
