from facscope.cli.main import main

main()
