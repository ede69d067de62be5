"""The functions behind GraphQL fields, and the per-request dataloaders they share."""
