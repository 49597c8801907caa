from rectify_flows.cli import main

main()
