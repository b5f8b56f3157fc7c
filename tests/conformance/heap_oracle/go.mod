module pymapheaporacle

go 1.21
