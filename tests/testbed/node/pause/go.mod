module onprem.wandb/testbed/pause

go 1.24
