import sys

from msd_demo.cli import main

sys.exit(main())
