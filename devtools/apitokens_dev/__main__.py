"""`python -m apitokens_dev`: the `apitokens` command."""

import sys

from apitokens_dev.command import main

sys.exit(main())
