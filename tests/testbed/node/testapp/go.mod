module onprem.wandb/testbed/testapp

go 1.24
