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
    IntelCommands.Create(),
};

// A command refusing its input (bad values, nothing to work on) or an unreadable/unwritable file is a message and an
// exit code, not a stack trace; anything else is a bug and is reported with its stack trace.
try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
{
    await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
    return 2;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    await Console.Error.WriteLineAsync($"distillguard: {e.Message}");
    return 1;
}
catch (OperationCanceledException)
{
    return 130;
}
catch (Exception e)
{
    await Console.Error.WriteLineAsync($"distillguard: unexpected error (a bug; please report it): {e}");
    return 1;
}
