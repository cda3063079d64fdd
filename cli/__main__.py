"""`python -m horn.cli`: the `horn` command."""

from horn.cli.main import main

raise SystemExit(main())
