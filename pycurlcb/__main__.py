from pycurlcb.cli import main

raise SystemExit(main())
