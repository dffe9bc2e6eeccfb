from cowsnap.cli import main

main()
