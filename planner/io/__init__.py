"""Files in, records out: YAML and CSV readers, the schema, overrides and the loaded inputs of an instance."""
