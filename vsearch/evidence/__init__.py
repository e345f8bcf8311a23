"""Evidence: audit log, signing, export bundles, exhibits, retention and case locks."""
