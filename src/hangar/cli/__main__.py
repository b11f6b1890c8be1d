from hangar.cli.main import hangar_main

hangar_main()
