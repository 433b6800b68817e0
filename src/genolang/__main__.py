from genolang.cli import main

main()
