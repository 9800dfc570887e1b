using System.CommandLine;
using DistillGuard.Cli.Commands;

var root = new RootCommand("DistillGuard: an OpenAI-compatible gateway that detects and resists distillation attacks.")
{
    ServeCommand.Create(),
    ModelCommands.Create(),
    SimulateCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
