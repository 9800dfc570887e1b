using System.CommandLine;
using DistillGuard.Cli.Commands;

var root = new RootCommand("DistillGuard: an OpenAI-compatible gateway that detects and resists distillation attacks.")
{
    ServeCommand.Create(),
    ModelCommands.Create(),
    WatermarkCommands.Create(),
    SimulateCommand.Create(),
    DetectionCommands.CreateCalibrate(), DetectionCommands.CreateEvaluate(),
    PolicyCommands.Create(),
    AuditCommand.Create(),
    LabCommands.Create(),
};

return await root.Parse(args).InvokeAsync();
