"""The GraphQL schema: types per domain, Query mixins, and the assembled Schema in ``regie.schema.schema``."""
