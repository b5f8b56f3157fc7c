module pymapbench

go 1.21
