from cowsnap.program import main

main()
