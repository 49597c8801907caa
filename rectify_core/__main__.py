from rectify_core.cli import main

main()
