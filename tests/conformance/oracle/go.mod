module pymaporacle

go 1.19
