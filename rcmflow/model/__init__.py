"""What a definition is, without a database: YAML read with its line numbers, checked
against one schema and then for sense, frozen into definitions; members; diagrams."""
