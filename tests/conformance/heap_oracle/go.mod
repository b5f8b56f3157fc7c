module pymapheaporacle

go 1.19
