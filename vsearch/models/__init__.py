"""Model files (registry, verification, installation) and appearance descriptors."""
