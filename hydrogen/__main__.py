from hydrogen.cli import main

main()
