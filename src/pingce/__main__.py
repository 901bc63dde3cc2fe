"""`python -m pingce ...`: the same as the `pingce` command."""

from pingce.cli import main

if __name__ == "__main__":
    main()
