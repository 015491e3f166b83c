from klynge.quick import main

main()
