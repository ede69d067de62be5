"""Groups of ``regie`` subcommands, one module each; ``regie/cli.py`` assembles them."""
