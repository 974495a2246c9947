from cloudos.cli import main

main()
