from llvscan.cli import main

main()
