from tenantadmin.cli.main import main

main()
