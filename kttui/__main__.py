import sys

from kttui.cli import main

sys.exit(main())
