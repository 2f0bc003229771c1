module certplan.bench/acmeload

go 1.19
